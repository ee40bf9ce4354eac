"""The operator console: a Dash app that reads and steers a rendezvous worker over REST."""
