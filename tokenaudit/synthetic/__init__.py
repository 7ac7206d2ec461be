"""Synthetic organisations for `tokenaudit generate`, sample_logs/, benchmarks and calibration.

Two generators that share no code, so a detector tuned on one can be tested on the other:

- `tokenaudit.synthetic.simulate`: `generate_org`, the organisation `tokenaudit generate` writes
  (honest archetypes and tokenmaxxing tactics around one lognormal base per person);
- `tokenaudit.synthetic.families`: whole families of organisations (honest, mixed, launch) drawn
  from wide parameter ranges with a latent-variable population model.

Production code never imports this package; only the CLI's `generate` command does.
"""
