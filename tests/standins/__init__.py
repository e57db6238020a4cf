"""Stand-in servers for the platforms the app talks to."""
