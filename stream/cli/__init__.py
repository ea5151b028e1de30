"""The supportpulse command line."""
