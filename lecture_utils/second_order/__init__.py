"""Second-order and line-search methods (lecture 06): Newton and its variants, steepest descent with line
searches, nonlinear conjugate gradients, BFGS and L-BFGS. They share one bookkeeping class
(:mod:`~lecture_utils.second_order.recorder`) and one dispatcher by name
(:mod:`~lecture_utils.second_order.methods`), and return the same trajectory as ``optim.run``.

Example::

    from lecture_utils import surfaces
    from lecture_utils.second_order import methods
    traj = methods.run_method("bfgs", surfaces.get("rosenbrock"), [-1.2, 1.0], 100)
"""
