"""Regional tax rates."""

RATES = {"eu": 0.2, "us": 0.07}


def tax_for(region, amount):
    """Tax owed on an amount in a region."""
    return amount * RATES.get(region, 0.0)
