"""The torch side of the course: data sets, small nets, initialization, batch norm, the training loop, and the
measurements and strategies built on it (loss-landscape probes, distillation, curricula). Lectures 05 to 08.

Example::

    from lecture_utils.training import data, nets, train
    hist = train.run(nets.MLP(64, [64], 10), data.digits(), "adam", epochs=3, progress=False)
"""
