"""NLU training data and models seen from the app side: import, evaluation, training runs."""
