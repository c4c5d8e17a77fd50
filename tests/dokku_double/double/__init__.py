"""The Dokku test double: one module per Dokku plugin it stands in for."""
