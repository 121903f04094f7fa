import SteeringCore
print("store-test-writer")
