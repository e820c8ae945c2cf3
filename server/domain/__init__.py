"""Field-service business rules that need the server: numbering, deadlines, checks that
read other rows, and the effects a change has on other rows (stale signatures)."""
