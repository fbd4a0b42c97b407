"""The face-match domain: photo quality rules, the match decision (threshold and margin) and the
in-memory gallery. numpy (and FAISS for large galleries) only; no driver, no model, no I/O."""
