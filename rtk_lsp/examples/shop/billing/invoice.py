"""Invoices and their totals."""

from billing.tax import tax_for


class InvoiceCalculator:
    """Computes invoice totals."""

    def __init__(self, lines):
        self.lines = lines

    def subtotal(self):
        return sum(line.price * line.qty for line in self.lines)

    def apply_discount(self, pct):
        """Apply a percentage discount, rounded to cents."""
        return round(self.subtotal() * (1 - pct / 100), 2)

    def total(self, region):
        return self.apply_discount(0) + tax_for(region, self.subtotal())
