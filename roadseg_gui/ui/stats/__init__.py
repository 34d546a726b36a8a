"""Annotator throughput in the app: the input recorder, the Stats panel, the annotator in the status bar."""
