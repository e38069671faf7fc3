"""Prepared datasets: building them (prepare), their on-disk format, and loading minibatches."""
