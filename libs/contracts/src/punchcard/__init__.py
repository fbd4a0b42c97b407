"""Punchcard contracts. The modules under ``punchcard.v1`` are generated from ``proto/`` by
``make proto`` (grpcio-tools) and are never written or edited by hand."""
