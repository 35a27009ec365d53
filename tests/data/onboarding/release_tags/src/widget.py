print("widget 1.0.0")
