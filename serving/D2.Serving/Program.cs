// The hosting contract (/ping, /invocations over the D2.Detection predictor) is not built yet.
// Until it is, refuse to start rather than answer /ping for a model that cannot predict.
await Console.Error.WriteLineAsync("D2.Serving: the SageMaker hosting server is not implemented yet; nothing to serve.");
return 64;
