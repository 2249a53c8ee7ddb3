// placeholder until the HTTP layer lands
