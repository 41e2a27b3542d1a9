"""PyTorch twins of the wattlab zoo models that bench/train_throughput.sh compares.

Each class mirrors its C++ counterpart layer for layer, width for width
(src/wattlab/train/models/lenet.cpp, mobilenet.cpp, resnet.cpp, and the
stride rule of models/layers.h), so parameter counts match exactly;
pytorch_train.py prints the count and train_throughput.sh checks it against
wattlab's. Initialisation is left at PyTorch's defaults: it does not change
the speed.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def downsample_strides(side, steps=5):
    """DownsamplePlan (models/layers.h): of `steps` stride-2 steps keep the last
    n, n the largest with side >> n >= 3; the leading ones run at stride 1."""
    kept = 0
    while kept < steps and (side >> (kept + 1)) >= 3:
        kept += 1
    return [1] * (steps - kept) + [2] * kept


def make_divisible(value, divisor=8):
    rounded = max(divisor, int(value + divisor / 2.0) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


class SmallCnn(nn.Module):
    """lenet.cpp SmallCnnImpl: conv3x3(32) → pool → conv3x3(64) → pool → fc 128 → fc."""

    def __init__(self, in_channels, side, num_classes):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        pooled = side // 2 // 2
        self.fc1 = nn.Linear(64 * pooled * pooled, 128)
        self.fc2 = nn.Linear(128, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x), inplace=True), 2)
        x = F.max_pool2d(F.relu(self.conv2(x), inplace=True), 2)
        x = F.relu(self.fc1(x.flatten(1)), inplace=True)
        return self.fc2(x)


class ConvBnAct(nn.Module):
    """layers.h ConvBnActImpl: conv (no bias, padding (k-1)/2) → BN → ReLU6 (in place) or nothing."""

    def __init__(self, cin, cout, kernel, stride, groups, relu6):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.relu6 = relu6

    def forward(self, x):
        x = self.bn(self.conv(x))
        return F.relu6(x, inplace=True) if self.relu6 else x


class InvertedResidual(nn.Module):
    def __init__(self, cin, expanded, cout, stride):
        super().__init__()
        layers = []
        if expanded != cin:
            layers.append(ConvBnAct(cin, expanded, 1, 1, 1, True))
        layers.append(ConvBnAct(expanded, expanded, 3, stride, expanded, True))
        layers.append(ConvBnAct(expanded, cout, 1, 1, 1, False))
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileNetV2(nn.Module):
    """mobilenet.cpp MobileNetV2Impl at width multiplier 1."""

    def __init__(self, in_channels, side, num_classes):
        super().__init__()
        strides = iter(downsample_strides(side))
        stages = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                  (6, 320, 1, 1)]
        channels = make_divisible(32)
        features = [ConvBnAct(in_channels, channels, 3, next(strides), 1, True)]
        for expand, width, repeats, stride in stages:
            out = make_divisible(width)
            first_stride = next(strides) if stride == 2 else 1
            for i in range(repeats):
                features.append(InvertedResidual(channels, channels * expand, out, first_stride if i == 0 else 1))
                channels = out
        features.append(ConvBnAct(channels, 1280, 1, 1, 1, True))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), 1).flatten(1)
        return self.classifier(x)


class BasicBlock(nn.Module):
    """resnet.cpp BasicBlockImpl, its 1x1 conv + BN shortcut when the shape changes."""

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, 0, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)), inplace=True)
        y = self.bn2(self.conv2(y))
        y += self.downsample(x) if self.downsample is not None else x
        return F.relu(y, inplace=True)


class ResNet18(nn.Module):
    """resnet.cpp ResNetImpl(18): stem 7x7/2 + max-pool, or 3x3/1 and no pool where the stride rule drops them."""

    def __init__(self, in_channels, side, num_classes):
        super().__init__()
        strides = iter(downsample_strides(side))
        stem_stride = next(strides)
        self.conv1 = (nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False) if stem_stride == 2
                      else nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False))
        self.bn1 = nn.BatchNorm2d(64)
        self.stem_pool = next(strides) == 2
        channels = 64
        stages = []
        for stage, planes in enumerate([64, 128, 256, 512]):
            blocks = []
            for i in range(2):
                stride = next(strides) if (i == 0 and stage > 0) else 1
                blocks.append(BasicBlock(channels, planes, stride))
                channels = planes
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)), inplace=True)
        if self.stem_pool:
            x = F.max_pool2d(x, 3, 2, 1)
        x = self.stages(x)
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


MODELS = {"cnn": SmallCnn, "mobilenet_v2": MobileNetV2, "resnet18": ResNet18}
