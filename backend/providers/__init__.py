"""One interface per outside capability, each with an embedded default and a real service chosen by settings."""
