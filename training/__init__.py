"""Cohort synthesis, model definition, training and nomogram fitting (TensorFlow, scikit-learn)."""
