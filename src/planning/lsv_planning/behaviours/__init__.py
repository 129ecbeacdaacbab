"""Behaviours: one pure module each; each turns the path ahead and the inputs into stop points,
speed caps or a lateral offset (see ``common``)."""
