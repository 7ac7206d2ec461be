"""Independent synthetic organisations for benchmarks and calibration tests.

`tokenaudit.synthetic.families` draws whole families of organisations (honest, mixed, launch)
from wide parameter ranges with a latent-variable population model. It shares no code with
`tokenaudit.simulate`, so a detector tuned on one generator can be tested on the other.
"""
