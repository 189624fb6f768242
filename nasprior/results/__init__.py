"""What a finished run gives a user: the HTML report of a run (``nasprior report``) and the ONNX export of its best
network (``nasprior export``). Import ``nasprior.results.report`` or ``nasprior.results.export`` directly.
"""
