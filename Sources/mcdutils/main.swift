print("mcdutils")
