// MambaBackbone: the Mamba (S6) and S4D sequence models, their checkpoints and recurrent inference.
//
// Reading order (data flow):
//   MambaConfiguration.swift   config.json (transformers' MambaConfig + MambaKit keys)
//   Parameters/                ParameterLayout (one buffer, transformers' names), Initialization, Checkpoint (load/save)
//   Files/                     safetensors, .npy token ids, JSON values, atomic writes
//   TokenBatch.swift           right-padded batches with lengths
//   MambaModel.swift           the model: glossary of dimensions, data flow, design; forward, prefill, step
//   MambaModel+Training.swift  training: objectives, loss, lossAndGradients (forward + backward, activation policy)
//   Layers/                    one file per layer (Embedding, RMSNorm, Linear, CausalConv1d, MambaMixer, SequenceOps,
//                              CrossEntropy), each a fast kernel beside a plain reference, backward beside forward
//   Scan/                      the selective (S6) and time-invariant (S4D) scans, forward and backward
//   Backend.swift              the kernel protocol between the model and where it runs (CPUBackend);
//                              ProfilingBackend.swift times each kernel
//   RecurrentState.swift       per-layer convolution windows and SSM states
