"""citytrade: China's foreign-trade statistics by city, province and nation, from customs releases to ranking marts."""

import warnings

# PySpark 4.3 warns on import that it does not fully support pandas 3, wherever it is imported from (GX imports it
# when it is installed). citytrade hands Spark no pandas object: Parquet files go between the engines
# (citytrade/transform/spark.py).
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
