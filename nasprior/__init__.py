"""nasprior: search sparse neural network structures built from graph priors.

The data flows one way: genome -> graph (prior) -> network (torch) ->
training -> record -> structural features -> predictor -> search.
"""

__version__ = "0.1.0"
