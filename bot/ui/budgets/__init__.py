"""The budget ballot's buttons, cards and refusals."""
