#!/usr/bin/env python3
# The reference for TrialsTest.ShuffledOrderDependsOnlyOnTheSeed: MT19937-64 written from
# Matsumoto & Nishimura's reference (not std::mt19937_64) and the Fisher-Yates walk of trials.cpp.
# Run: python3 trial_order.py
class MT64:
    def __init__(self, seed):
        self.mt=[0]*312; self.mt[0]=seed & 0xFFFFFFFFFFFFFFFF
        for i in range(1,312):
            self.mt[i]=(6364136223846793005*(self.mt[i-1]^(self.mt[i-1]>>62))+i)&0xFFFFFFFFFFFFFFFF
        self.i=312
    def next(self):
        if self.i>=312:
            for k in range(312):
                x=(self.mt[k]&0xFFFFFFFF80000000)|(self.mt[(k+1)%312]&0x7FFFFFFF)
                xa=x>>1
                if x&1: xa^=0xB5026F5AA96619E9
                self.mt[k]=self.mt[(k+156)%312]^xa
            self.i=0
        y=self.mt[self.i]; self.i+=1
        y^=(y>>29)&0x5555555555555555
        y^=(y<<17)&0x71D67FFFEDA60000
        y^=(y<<37)&0xFFF7EEE000000000
        y^=y>>43
        return y&0xFFFFFFFFFFFFFFFF
M=(1<<64)-1
def below(r,n):
    limit=M-M%n
    x=r.next()
    while x>=limit: x=r.next()
    return x%n
keys=[f"{m}/{e}/r{r}" for m in ["cnn","resnet18"] for e in ["a","b"] for r in [1,2,3]]
r=MT64(2022)
for i in range(len(keys),1,-1):
    j=below(r,i); keys[i-1],keys[j]=keys[j],keys[i-1]
print(keys)
r=MT64(5489); print(r.next()==14514284786278117030)
