"""Dataset: clips -> renders -> features -> parquet shards + a Hugging Face dataset card."""
