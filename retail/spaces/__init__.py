"""Store spaces (场): fitting rooms, VIP lounges, makeup counters, livestream corners ...
registered with location, area, capacity, hours and tags; their use (check-in / out by
staff, or occupancy reported by a device) and utilisation per hour; reconstruction rules
(a space exclusive to a tier during a window) and bookings of its slots for members."""
