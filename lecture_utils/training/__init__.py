"""The torch side of the course: data sets, small nets, initialization, batch norm, the training loop, and the
measurements and strategies built on it (loss-landscape probes, distillation, curricula, curvature, scale).

Lecture 05 uses :mod:`~lecture_utils.training.init`; lecture 07 :mod:`~lecture_utils.training.data`,
:mod:`~lecture_utils.training.nets`, :mod:`~lecture_utils.training.batchnorm`, :mod:`~lecture_utils.training.train`
and :mod:`~lecture_utils.training.landscape`; lecture 08 adds :mod:`~lecture_utils.training.curriculum` and
:mod:`~lecture_utils.training.distillation`. :mod:`~lecture_utils.training.batching` is how the training loop walks
the data; :mod:`~lecture_utils.training.batched` (with :mod:`~lecture_utils.training.stacked`) trains K nets at once
for the claims over seeds of lectures 04 to 11. Lecture 10 uses :mod:`~lecture_utils.training.curvature`,
:mod:`~lecture_utils.training.sharpness` and :mod:`~lecture_utils.training.loss_landscape`; lecture 11
:mod:`~lecture_utils.training.range_test`, :mod:`~lecture_utils.training.noise_scale` and
:mod:`~lecture_utils.training.distributed`. Nothing is imported by ``import lecture_utils.training``: import the
modules by name.

Example (one epoch of Adam on the digits: 21 steps of 64 examples)::

    >>> from lecture_utils import set_seed
    >>> from lecture_utils.training import data, nets, train
    >>> set_seed(0)
    0
    >>> hist = train.run(nets.MLP(64, [64], 10), data.digits(), "adam", epochs=1, progress=False)
    >>> hist["step"]                              # a record before training and one after the epoch
    array([ 0., 21.])
    >>> bool(hist["test_acc"][-1] > hist["test_acc"][0])
    True
"""
