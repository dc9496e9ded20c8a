using TorchSharp.Modules;

namespace D2.Detection.Solver;

/// <summary>
/// One parameter group of Detectron2's <c>get_default_optimizer_params</c>: parameters that share a learning rate and
/// a weight decay, in the order the model's modules list them.
/// </summary>
/// <param name="Names">the parameters' state-dict names, parallel to <paramref name="Parameters"/></param>
/// <param name="LearningRate">the group's base lr (BASE_LR, or BASE_LR x BIAS_LR_FACTOR for biases)</param>
/// <param name="WeightDecay">L2 weight decay added to the gradient</param>
public sealed record OptimizerParamGroup(IReadOnlyList<string> Names, IReadOnlyList<Parameter> Parameters, double LearningRate, double WeightDecay);
