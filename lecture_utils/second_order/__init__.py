"""Second-order and line-search methods (lecture 06): Newton and its variants, steepest descent with line
searches, nonlinear conjugate gradients, BFGS and L-BFGS. They share one bookkeeping class
(:mod:`~lecture_utils.second_order.recorder`) and one dispatcher by name
(:mod:`~lecture_utils.second_order.methods`), and return the same trajectory as ``optim.run``.

The methods live in :mod:`~lecture_utils.second_order.newton`, :mod:`~lecture_utils.second_order.linesearch`,
:mod:`~lecture_utils.second_order.cg` and :mod:`~lecture_utils.second_order.quasi_newton`.

Example (BFGS reaches Rosenbrock's minimum at (1, 1))::

    >>> from lecture_utils import surfaces
    >>> from lecture_utils.second_order import methods
    >>> traj = methods.run_method("bfgs", surfaces.get("rosenbrock"), [-1.2, 1.0], 100)
    >>> traj.status()                             # doctest: +ELLIPSIS
    'converged at step ...'
    >>> traj.final.round(3)
    array([[1., 1.]])
"""
