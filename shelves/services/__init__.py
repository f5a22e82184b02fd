"""Writes of cloud shelves, one module per area:

- catalogs: HQ's catalogs (items, order, featured, headline) and the brand's shelf settings
  (day/night hours, Double-11 mode, buy URL, attribution window);
- screens: screens in stores (each registered as a device), catalog assignment, retirement;
- kiosk: what a screen reports (heartbeat, impressions);
- scans: recording a shopper's scan (the hot path) and the attribution token it hands out.
"""
