"""The punch service's domain: the pure rules of punches, timesheets and suspicious PIN use.
Pure Python, standard library only; imports no driver."""
