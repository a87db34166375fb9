"""The staff console's services: queue, transcripts, agent messages, review, reports."""
