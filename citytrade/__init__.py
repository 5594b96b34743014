"""citytrade: China's foreign-trade statistics by city, province and nation, from customs releases to ranking marts."""
