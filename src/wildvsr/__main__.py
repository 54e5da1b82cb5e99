"""``python -m wildvsr`` (also what ``torchrun -m wildvsr train ...`` runs)."""

from wildvsr.cli import main

if __name__ == "__main__":
    main()
