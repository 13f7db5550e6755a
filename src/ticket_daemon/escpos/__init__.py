"""escpos package."""
