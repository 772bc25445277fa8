"""One exception type whose message is shown to the user as a single line."""


class FxbenchError(Exception):
    """A user-facing error: the message names the problem and the fix.

    ``exit_code`` 2 means bad usage (unknown name, bad argument), 1 anything else.
    """

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def __reduce__(self):  # keep exit_code when raised in a build worker process
        return (type(self), (str(self), self.exit_code))


def did_you_mean(name: str, choices: list[str], list_all: bool = True) -> str:
    """A short hint: the closest valid name, then all of them (unless there are too many to list)."""
    import difflib

    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.4)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"{hint} Valid: {', '.join(sorted(choices))}." if list_all else hint
