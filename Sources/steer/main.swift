// The `steer` executable: the commands live in the SteerCLI library, so that a tool with plugins of its own
// can run them with its registry (Steer.start(registry:)).
import SteerCLI

await Steer.start()
