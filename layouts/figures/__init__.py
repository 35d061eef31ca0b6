"""Figure builders: pure functions from DataFrames to Plotly figure dicts, plus themes."""
