"""Imported first, and only, by the build's fork server: Ctrl-C during its torch import would print a
traceback over the CLI's one-line message. The server ignores SIGINT once its imports are done anyway
(and goes when the build's process does); the workers it forks restore Python's handler."""
import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
