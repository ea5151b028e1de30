"""Message processing without Faust: route, decode, apply, account; effects for the wiring."""
