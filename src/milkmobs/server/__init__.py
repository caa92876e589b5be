"""``milkmobs serve``: the local HTTP server (route table + upload/media routes + background pipeline)."""
