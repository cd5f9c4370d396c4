"""Reading: fetched bytes into feed entries (RSS, Atom, JSON Feed), leniently and within limits."""
