//! Our axon on its own: every convention, limits, deadlines, bad input.
