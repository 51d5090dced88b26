"""Views of organizational life, one module per screen family."""
