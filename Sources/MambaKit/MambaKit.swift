// The umbrella module: `import MambaKit` gives the whole public API.
@_exported import MambaAudio
@_exported import MambaBackbone
@_exported import MambaGenomics
@_exported import MambaTensor
@_exported import MambaTokenizers
@_exported import MambaTraining
@_exported import MambaAudioML
@_exported import MambaGenomicsML
@_exported import MambaReport
