//! Our dendrite on its own: fan-out, deadlines, hostile answers, streams.
