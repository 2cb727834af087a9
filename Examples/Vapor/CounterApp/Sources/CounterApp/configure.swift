import MCDUtilsVapor
import Memcached
import Vapor

/// Sessions in the memcached servers of `MEMCACHED_SERVERS`, each written to two nodes (one
/// replica), and the routes.
func configure(_ app: Application) throws {
  let servers = Environment.get("MEMCACHED_SERVERS") ?? "127.0.0.1:11211"
  var configuration = MemcachedConfiguration(
    servers: try MemcachedServer.parseList(servers.replacingOccurrences(of: ",", with: "\n")))
  configuration.replicas = min(1, configuration.servers.count - 1)
  try app.memcached.use(configuration)
  app.sessions.use(.memcached())
  app.middleware.use(app.sessions.middleware)
  try app.register(collection: CounterRoutes())
}
